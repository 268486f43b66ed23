"""fptbench subcommands that need baselines/ (declared as `command.baselines` in the fptbench.builtins entry points)."""
