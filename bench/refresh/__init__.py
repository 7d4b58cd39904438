"""The parts of ``bench/dashboard_refresh.py``, one job each: the data (fill), the load (measure), the browser,
the report (summary), and the figures' formatting they share."""
