"""Charts both workbooks use: straight-line scatter charts (a #N/A cell is a gap in every engine) whose series differ in colour AND in dash
and marker (they survive greyscale printing), with readable axis numbers, axis titles and the legend below.

Number formats of the axes are custom formats that Excel, LibreOffice and Google Sheets all honour
(:data:`AXIS_FORMATS`): 1B, 10B, 100B for counts; 0.1, 1, 10 for ratios; $ with thousands separators.
"""

from __future__ import annotations

from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.chart.marker import Marker
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties

#: How each series of a chart looks, in order: colour, dash, marker (no two alike in any of the three).
SERIES_LOOKS = (
    ("1F4E79", "solid", "circle"),
    ("C55A11", "dash", "triangle"),
    ("548235", "sysDot", "square"),
    ("7F7F7F", "lgDashDot", "diamond"),
)

#: Axis number formats by kind of axis.
AXIS_FORMATS = {
    "count": '[>=1E+12]0.#,,,,"T";[>=1E+9]0.#,,,"B";0.#,,"M"',
    "ratio": "General",
    "usd": '[>=1E+9]$#,##0.0,,,"B";[>=1E+6]$#,##0.0,,"M";$#,##0,"K"',  # an axis: $900K, $1.2M
    "loss": "0.00",
    "month": "0",
}


def style_series(series, position: int, *, line: bool = True, marker_size: int = 5) -> None:
    """Give a series the look at ``position`` of SERIES_LOOKS; ``line=False`` draws markers only."""
    colour, dash, symbol = SERIES_LOOKS[position % len(SERIES_LOOKS)]
    series.smooth = False
    series.marker = Marker(symbol=symbol, size=marker_size)
    series.marker.graphicalProperties = GraphicalProperties(solidFill=colour)
    series.marker.graphicalProperties.line.solidFill = colour
    series.graphicalProperties = GraphicalProperties()
    if line:
        series.graphicalProperties.line = LineProperties(solidFill=colour, prstDash=dash, w=22225)
    else:
        series.graphicalProperties.line = LineProperties(noFill=True)


def _axes(chart, x_title: str, y_title: str, x_format: str, y_format: str, log_x: bool, log_y: bool) -> None:
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    for axis, fmt, log in ((chart.x_axis, x_format, log_x), (chart.y_axis, y_format, log_y)):
        axis.delete = False
        axis.number_format = AXIS_FORMATS.get(fmt, fmt)
        axis.numFmt.sourceLinked = False
        if log:
            axis.scaling.logBase = 10
            axis.majorUnit = 10
    chart.legend.position = "b"
    chart.width, chart.height = 18, 10


def scatter_chart(title: str, x_ref: Reference, y_refs, *, x_title: str, y_title: str, x_format: str = "count",
                  y_format: str = "ratio", log_x: bool = False, log_y: bool = False) -> ScatterChart:
    """A straight-line scatter chart of y columns (header cell first: the series title) against an x column."""
    chart = ScatterChart()
    chart.title = title
    chart.style = 13
    chart.scatterStyle = "lineMarker"
    _axes(chart, x_title, y_title, x_format, y_format, log_x, log_y)
    for position, y_ref in enumerate(y_refs):
        series = Series(y_ref, x_ref, title_from_data=True)
        style_series(series, position)
        chart.series.append(series)
    return chart


#: How marked points (optima) look: colour and marker, unlike any line's.
POINT_LOOKS = (("C00000", "diamond"), ("000000", "x"), ("7030A0", "star"))


def add_points(chart, x_ref: Reference, y_ref: Reference, title: str, position: int) -> Series:
    """A series of marked points without a line (an optimum, say) on a scatter chart."""
    series = Series(y_ref, x_ref, title=title)
    colour, symbol = POINT_LOOKS[position % len(POINT_LOOKS)]
    series.smooth = False
    series.marker = Marker(symbol=symbol, size=10)
    series.marker.graphicalProperties = GraphicalProperties(solidFill=colour)
    series.marker.graphicalProperties.line.solidFill = colour
    series.graphicalProperties = GraphicalProperties()
    series.graphicalProperties.line = LineProperties(noFill=True)
    chart.series.append(series)
    return series


def plot_area_layout(chart) -> None:
    """Leave room under the plot for the axis title and legend (so neither is cut off)."""
    chart.plot_area.layout = Layout(manualLayout=ManualLayout(x=0.1, y=0.1, w=0.85, h=0.62))
