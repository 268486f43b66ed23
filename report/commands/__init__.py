"""fptbench subcommands that need report/ (declared as `command.report` in the fptbench.builtins entry points)."""
