"""FPS + WHDR report: join records, render tables (terminal, Markdown, CSV, JSON) and plots."""
