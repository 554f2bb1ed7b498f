import Foundation

/// A line chart as a self-contained SVG: axes with ticks and labels, one polyline per series, a legend.
public struct LineChart {
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var width: Double = 2
        public init(name: String, color: String, points: [(x: Double, y: Double)], width: Double = 2) {
            self.name = name
            self.color = color
            self.points = points
            self.width = width
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
        for tick in niceTicks(yMin, yMax) {
            out += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(width - right))\" y1=\"\(fmt(py(tick)))\" y2=\"\(fmt(py(tick)))\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(py(tick) + 4))\" text-anchor=\"end\">\(tickLabel(tick))</text>\n"
        }
        for tick in niceTicks(xMin, xMax) {
            out += "<line x1=\"\(fmt(px(tick)))\" x2=\"\(fmt(px(tick)))\" y1=\"\(fmt(top + plotHeight))\" y2=\"\(fmt(top + plotHeight + 5))\" stroke=\"#333\"/>\n"
            out += "<text x=\"\(fmt(px(tick)))\" y=\"\(fmt(top + plotHeight + 18))\" text-anchor=\"middle\">\(tickLabel(tick))</text>\n"
        }
        out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(fmt(left + plotWidth / 2))\" y=\"\(fmt(height - 12))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(fmt(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let points = line.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"\(fmt(line.width))\" points=\"\(points)\"/>\n"
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

func tickLabel(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e7 { return String(Int(value)) }
    return String(format: "%.2f", value)
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
