"""Sub-commands of the `finereid` CLI, one module each (see `finereid.cli.COMMANDS`)."""
