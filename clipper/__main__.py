from clipper.cli.main import main

raise SystemExit(main())
