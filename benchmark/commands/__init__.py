"""fptbench subcommands; every module here is imported by the CLI and registers its commands."""
