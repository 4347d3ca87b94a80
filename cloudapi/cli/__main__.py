from cloudapi.cli import main

main()
