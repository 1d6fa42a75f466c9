from clipper.cli import main

raise SystemExit(main())
