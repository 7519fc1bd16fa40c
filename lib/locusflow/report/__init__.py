"""The HTML report of a run (``<out>/report.html``) and ``locusflow serve``, a local web app over its results."""
