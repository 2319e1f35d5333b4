"""The template workbooks: building (openpyxl), recalculating (LibreOffice, Gnumeric), refreshing and checking them."""
