from acrctl.cli.main import main

main()
