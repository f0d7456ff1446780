from splitcost.cli import main

main()
