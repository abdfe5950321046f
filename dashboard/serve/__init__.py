"""Ways to run the dashboard: the command line, the WSGI entry, Celery workers, precompute."""
