from sdc.cli import main

main()
