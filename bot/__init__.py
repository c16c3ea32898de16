"""The edges and the wiring: settings, app factory, callbacks, WeChat clients, pages, CLI, emulator."""
