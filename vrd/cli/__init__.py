"""The typer app. Each command group lives in its own module with a `register(app)` function."""
