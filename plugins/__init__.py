"""Built-in panel plugins: controls and scatter, registered like third-party panels."""
