"""The one logger of the package (DESIGN rule 7): ``locusflow.<name>`` children of ``locusflow``."""
import logging

logger = logging.getLogger("locusflow")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s locusflow %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def get_logger(name: str = "") -> logging.Logger:
    """The package logger, or its child ``locusflow.<name>``.

    Parameters
    ----------
    name : str
        Child name (a stage or module), empty for the package logger.

    Returns
    -------
    logging.Logger
    """
    return logger.getChild(name) if name else logger
