import Foundation

/// A labelled 2-D scatter plot as SVG, e.g. token embeddings projected onto two axes.
///
/// Labels that would overlap are moved down the page into free space, joined to their point by a thin line, so a
/// 65-token vocabulary stays readable.
public struct ScatterPlot {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var points: [(x: Double, y: Double, label: String)]

    public init(title: String, xLabel: String, yLabel: String, points: [(x: Double, y: Double, label: String)]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
    }

    public func svg(width: Double = 760, height: Double = 620) -> String {
        let margin = 60.0
        let xs = points.map(\.x), ys = points.map(\.y)
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, xMin + 1e-9)
        let yMin = ys.min() ?? 0, yMax = max(ys.max() ?? 1, yMin + 1e-9)
        func px(_ x: Double) -> Double { margin + (x - xMin) / (xMax - xMin) * (width - 2 * margin) }
        func py(_ y: Double) -> Double { margin + (1 - (y - yMin) / (yMax - yMin)) * (height - 2 * margin) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="monospace" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(fmt(width / 2))" y="24" text-anchor="middle" font-family="sans-serif" font-size="15">\(escapeXML(title))</text>
            <rect x="\(fmt(margin))" y="\(fmt(margin))" width="\(fmt(width - 2 * margin))" height="\(fmt(height - 2 * margin))" fill="none" stroke="#999"/>
            <text x="\(fmt(width / 2))" y="\(fmt(height - 18))" text-anchor="middle" font-family="sans-serif">\(escapeXML(xLabel))</text>
            <text transform="translate(14 \(fmt(height / 2))) rotate(-90)" text-anchor="middle" font-family="sans-serif">\(escapeXML(yLabel))</text>

            """
        // Axis values, so distances between points can be read off.
        for (tick, label) in tickLabels(niceTicks(xMin, xMax)) {
            out += "<line x1=\"\(fmt(px(tick)))\" x2=\"\(fmt(px(tick)))\" y1=\"\(fmt(height - margin))\" y2=\"\(fmt(height - margin + 5))\" stroke=\"#999\"/>\n"
            out += "<text x=\"\(fmt(px(tick)))\" y=\"\(fmt(height - margin + 17))\" text-anchor=\"middle\" font-family=\"sans-serif\" fill=\"#555\">\(label)</text>\n"
        }
        for (tick, label) in tickLabels(niceTicks(yMin, yMax)) {
            out += "<line x1=\"\(fmt(margin - 5))\" x2=\"\(fmt(margin))\" y1=\"\(fmt(py(tick)))\" y2=\"\(fmt(py(tick)))\" stroke=\"#999\"/>\n"
            out += "<text x=\"\(fmt(margin - 8))\" y=\"\(fmt(py(tick) + 4))\" text-anchor=\"end\" font-family=\"sans-serif\" fill=\"#555\">\(label)</text>\n"
        }
        // Place labels greedily: try the spot beside the point, then spots further down, until no box overlaps.
        var placed: [(x: Double, y: Double, w: Double)] = []
        for point in points {
            let x = px(point.x), y = py(point.y)
            let label = visibleLabel(point.label)
            let w = Double(label.count) * 6.8 + 4
            var labelY = y - 4
            var attempts = 0
            while attempts < 40, placed.contains(where: { abs($0.y - labelY) < 11 && x + 5 < $0.x + $0.w && $0.x < x + 5 + w }) {
                labelY += 11
                attempts += 1
            }
            placed.append((x + 5, labelY, w))
            out += "<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"3\" fill=\"#1f5fbf\"/>\n"
            if attempts > 0 {
                out += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(y))\" x2=\"\(fmt(x + 5))\" y2=\"\(fmt(labelY - 3))\" stroke=\"#bbb\" stroke-width=\"0.7\"/>\n"
            }
            out += "<text x=\"\(fmt(x + 5))\" y=\"\(fmt(labelY))\">\(escapeXML(label))</text>\n"
        }
        return out + "</svg>\n"
    }
}

/// A token's text made visible: spaces as `·`, line breaks as `\n`.
public func visibleLabel(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case " ": out += "·"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
