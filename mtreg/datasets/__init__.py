"""Real multi-task data sets shipped with mtreg.

Each loader returns a :class:`Dataset`: the long table (``.data``), the name of its task column,
its responses and features, and a description with the source and the citation the data's
authors request (``.DESCR``), in the spirit of ``statsmodels.datasets``.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

__all__ = ["Dataset", "load_parkinsons"]


@dataclass(frozen=True)
class Dataset:
    """A bundled multi-task data set.

    Attributes
    ----------
    data : pandas.DataFrame
        The long table, one row per observation.
    task : str
        The column that names the task of each row.
    responses : tuple of str
        Columns that can serve as responses.
    features : tuple of str
        Columns meant as features.
    DESCR : str
        Description: source, shape, columns, licence and citation.
    citation : str
        The reference the data's authors ask users to cite.
    """

    data: pd.DataFrame
    task: str
    responses: tuple
    features: tuple
    DESCR: str
    citation: str

    @property
    def formula(self) -> str:
        """A formula regressing the first response on all features."""
        return f"{self.responses[0]} ~ " + " + ".join(self.features)

    def __repr__(self) -> str:
        first = self.DESCR.strip().splitlines()[0]
        return (f"<Dataset {first!r}: {self.data.shape[0]} rows, "
                f"{self.data[self.task].nunique()} tasks ({self.task!r})>")


_PARKINSONS_CITATION = (
    "Tsanas, A., Little, M. A., McSharry, P. E., Ramig, L. O. (2010). Accurate telemonitoring "
    "of Parkinson's disease progression by non-invasive speech tests. IEEE Transactions on "
    "Biomedical Engineering, 57(4), 884-893.")

_VOICE = ("Jitter_pct", "Jitter_abs", "Jitter_RAP", "Jitter_PPQ5", "Jitter_DDP", "Shimmer",
          "Shimmer_dB", "Shimmer_APQ3", "Shimmer_APQ5", "Shimmer_APQ11", "Shimmer_DDA", "NHR",
          "HNR", "RPDE", "DFA", "PPE")


def load_parkinsons() -> Dataset:
    """Parkinson's disease telemonitoring: 42 patients (tasks), 5875 voice recordings.

    Each patient was recorded at home about six times a day for six months; the responses are
    the clinician's motor and total UPDRS scores (linearly interpolated in time within each
    patient), the features 16 voice measures. Patients are the tasks (101-168 rows each).

    Returns
    -------
    Dataset
        ``.data`` has 5875 rows and 22 columns: ``subject`` (task, 1..42), ``age``, ``sex``
        (0 male, 1 female), ``test_time`` (days since recruitment), ``motor_UPDRS``,
        ``total_UPDRS`` and the voice measures ``Jitter_pct``, ``Jitter_abs``, ``Jitter_RAP``,
        ``Jitter_PPQ5``, ``Jitter_DDP``, ``Shimmer``, ``Shimmer_dB``, ``Shimmer_APQ3``,
        ``Shimmer_APQ5``, ``Shimmer_APQ11``, ``Shimmer_DDA``, ``NHR``, ``HNR``, ``RPDE``,
        ``DFA``, ``PPE``.

    Notes
    -----
    Source: UCI Machine Learning Repository, "Parkinsons Telemonitoring", created by Athanasios
    Tsanas and Max Little (University of Oxford); labelled CC BY 4.0 by the repository. Column
    names were made formula-friendly; values are unchanged. Please cite:

    Tsanas, A., Little, M. A., McSharry, P. E., Ramig, L. O. (2010). Accurate telemonitoring of
    Parkinson's disease progression by non-invasive speech tests. IEEE Transactions on
    Biomedical Engineering, 57(4), 884-893.

    Because UPDRS is interpolated in time, ``test_time`` as a feature makes each patient's
    regression almost exact; the voice features alone explain little within-patient variance.

    Examples
    --------
    >>> import mtreg
    >>> ds = mtreg.datasets.load_parkinsons()
    >>> ds.data.shape
    (5875, 22)
    """
    path = resources.files(__package__).joinpath("data", "parkinsons.csv.gz")
    with resources.as_file(path) as file:
        data = pd.read_csv(file)
    descr = (load_parkinsons.__doc__ or "").split("Examples")[0]
    return Dataset(data=data, task="subject", responses=("total_UPDRS", "motor_UPDRS"),
                   features=_VOICE, DESCR="Parkinsons telemonitoring (UCI)\n" + descr,
                   citation=_PARKINSONS_CITATION)
