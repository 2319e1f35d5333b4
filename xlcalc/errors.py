"""Errors raised by xlcalc.

Every error derives from :class:`XlcalcError` and also from a builtin, so callers can catch either
(``except xlcalc.XlcalcError`` or ``except ValueError``).
"""


class XlcalcError(Exception):
    """Base class of every error xlcalc raises on purpose."""


class InvalidInputError(XlcalcError, ValueError):
    """An argument has a value the calculation cannot use; the message names it and what is allowed."""


class UnknownNameError(XlcalcError, KeyError):
    """A named thing (scaling-law fit, accelerator, column) is not known; the message lists the known ones."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DoesNotFitError(XlcalcError, ValueError):
    """A model does not fit in the memory of the GPUs given; the message says how many it needs."""


class DataFileError(XlcalcError, ValueError):
    """A data file (CSV catalog, training runs) is malformed; the message names the file and line."""


class WorkbookError(XlcalcError, ValueError):
    """A workbook is not an xlcalc workbook, is open in Excel, or cannot be written safely."""


class RecalcError(XlcalcError, RuntimeError):
    """The spreadsheet engine (LibreOffice) is missing, failed or timed out while recalculating a workbook."""


class InvalidInputWarning(UserWarning):
    """Some elements of an array call were invalid and came back as NaN (see ``xlcalc.invalid_reasons``)."""


class WorkbookWriteError(XlcalcError, OSError):
    """A workbook could not be written (read-only folder, full disk, no permission); the message names the path."""


# What an error cell holds when xlwings reads it with err_to_str=True (Windows and Office.js alike); the Excel
# functions and the recalculated workbooks both meet these.
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
