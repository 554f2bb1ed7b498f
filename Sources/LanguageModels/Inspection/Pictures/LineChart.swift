import Foundation

/// A line chart as a self-contained SVG: axes with ticks and labels, one polyline per series, a legend.
public struct LineChart {
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var width: Double = 2
        /// Draws a dot at each point: for sparse series (evaluations), so a reader sees where the values were
        /// measured and that the line between them is only a guide.
        public var markers = false
        public init(name: String, color: String, points: [(x: Double, y: Double)], width: Double = 2,
                    markers: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.width = width
            self.markers = markers
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// The chart as SVG text, `width` x `height` pixels.
    public func svg(width: Double = 720, height: Double = 420) -> String {
        let (left, right, top, bottom) = (70.0, 20.0, 40.0, 55.0)
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xMin = all.map(\.x).min() ?? 0, xMax = max(all.map(\.x).max() ?? 1, xMin + 1e-9)
        let yMin = all.map(\.y).min() ?? 0, yMax = max(all.map(\.y).max() ?? 1, yMin + 1e-9)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(fmt(width / 2))" y="22" text-anchor="middle" font-size="15">\(escapeXML(title))</text>

            """
        for (tick, label) in tickLabels(niceTicks(yMin, yMax)) {
            out += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(width - right))\" y1=\"\(fmt(py(tick)))\" y2=\"\(fmt(py(tick)))\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(py(tick) + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        for (tick, label) in tickLabels(niceTicks(xMin, xMax)) {
            out += "<line x1=\"\(fmt(px(tick)))\" x2=\"\(fmt(px(tick)))\" y1=\"\(fmt(top + plotHeight))\" y2=\"\(fmt(top + plotHeight + 5))\" stroke=\"#333\"/>\n"
            out += "<text x=\"\(fmt(px(tick)))\" y=\"\(fmt(top + plotHeight + 18))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(fmt(left + plotWidth / 2))\" y=\"\(fmt(height - 12))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(fmt(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let points = line.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"\(fmt(line.width))\" points=\"\(points)\"/>\n"
            if line.markers {
                for point in line.points where point.x.isFinite && point.y.isFinite {
                    out += "<circle cx=\"\(fmt(px(point.x)))\" cy=\"\(fmt(py(point.y)))\" r=\"3.5\" fill=\"\(line.color)\"/>\n"
                }
            }
            let ly = top + 14 + Double(index) * 18
            out += "<line x1=\"\(fmt(width - right - 150))\" x2=\"\(fmt(width - right - 128))\" y1=\"\(fmt(ly))\" y2=\"\(fmt(ly))\" stroke=\"\(line.color)\" stroke-width=\"3\"/>\n"
            out += "<text x=\"\(fmt(width - right - 122))\" y=\"\(fmt(ly + 4))\">\(escapeXML(line.name))</text>\n"
        }
        return out + "</svg>\n"
    }
}

/// About five round tick values covering `[low, high]`.
func niceTicks(_ low: Double, _ high: Double) -> [Double] {
    let span = high - low
    guard span > 0, span.isFinite else { return [low] }
    let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var ticks: [Double] = []
    var value = ceil(low / step) * step
    while value <= high + step * 1e-9 {
        ticks.append(value)
        value += step
    }
    return ticks
}

/// Labels for evenly spaced ticks, all with the same number of decimals: as many as the spacing needs
/// (`3.0 3.5 4.0`, `0 500 1000`), never a mix such as `3` beside `3.50`.
func tickLabels(_ ticks: [Double]) -> [(value: Double, label: String)] {
    let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : 1
    let decimals = step > 0 && step.isFinite ? min(6, max(0, Int(-floor(log10(step) + 1e-9)))) : 0
    return ticks.map { ($0, String(format: "%.\(decimals)f", abs($0) < step * 1e-9 ? 0 : $0)) }
}

func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

/// Escapes text for SVG/XML content and attributes.
public func escapeXML(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // Control characters are not allowed in XML 1.0; show them as their code.
            if scalar.value < 0x20 && scalar != "\t" { out += "U+\(String(scalar.value, radix: 16))" } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out
}
