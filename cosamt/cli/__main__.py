from cosamt.cli import app

app()
