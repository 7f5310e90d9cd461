from trm.cli import main

raise SystemExit(main())
