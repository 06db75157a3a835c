"""minsec's errors: one base, :class:`MinsecError`, for everything a user can cause and correct.

A ``MinsecError`` carries a one-line message that names what is wrong (the file, row and column; the option or
field; the unknown name and where to look up the known ones).  The command line prints that line and exits
with code 2; the REST API answers 4xx with it; anything else that escapes is a bug and shows as one.

The tree (each capability keeps its own class beside the code that raises it)::

    MinsecError
    ├── InputError (also a ValueError)           bad value of an option, field or file
    │   ├── NoDataError                          a valid selection the data hold no figure for (why, and where
    │   │                                        one is: another source, stage or year)
    │   ├── data.errors.DataFormatError          a publisher's file that does not parse (file, row, column)
    │   ├── data.dataset.DatasetError            a tidy table that violates the format (table, row, column)
    │   ├── data.countries.UnknownCountryError   not an ISO 3166 code or country name
    │   ├── scenarios.schema.ScenarioError       a scenario file or definition (field path)
    │   ├── scenarios.allocation.AllocationError
    │   ├── stockpile.inputs.StockpileInputError ── stockpile.model.InfeasiblePlanError
    │   ├── markets.series.MarketInputError
    │   ├── rules.policy.PolicyError, rules.bom.BomError
    │   ├── investment.pipeline.PipelineError
    │   ├── web.brief.BriefError
    │   └── service.sharing.InvalidError
    ├── UnknownNameError (also a KeyError)       an unknown material, group, scenario, policy …
    ├── MissingFileError (also a FileNotFoundError) a file or directory the user named is not there
    ├── service.sharing.ForbiddenError, service.sharing.NotFoundError, service.accounts.LoginFailedError
    ├── web.pages.SignInRequiredError            (answered by a redirect to the sign-in page)
    └── stockpile.model.NeedsLPError             (internal: the fast path does not apply; the LP is used)
"""

from __future__ import annotations


class MinsecError(Exception):
    """Base of every error minsec raises for input a user can correct; ``str()`` is the one-line message."""

    def __str__(self) -> str:
        # KeyError's own __str__ would wrap the message in quotes
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(MinsecError, ValueError):
    """A value that is out of range, malformed or inconsistent; the message names the option, field or row."""


class UnknownNameError(MinsecError, KeyError):
    """A name minsec does not know (material, group, scenario, policy, example …); the message says where the
    known names are listed."""


class MissingFileError(MinsecError, FileNotFoundError):
    """A file or directory the user named does not exist."""


class NoDataError(InputError):
    """A selection the data hold no figure for: the message says why (the source withholds the figure, has no
    series at that stage, or does not cover that year — as the data show) and how to get an answer (the sources,
    stages or years that do have one).  An :class:`InputError`, so it exits 2 like every correctable input."""
