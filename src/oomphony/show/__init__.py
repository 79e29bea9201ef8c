"""The show: setlists, the director that runs them, and the runner."""
