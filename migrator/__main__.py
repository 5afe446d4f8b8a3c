from migrator.launch import main

main()
