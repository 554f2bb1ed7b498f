import Foundation

/// A labelled 2-D scatter plot as SVG, e.g. token embeddings projected onto two axes.
///
/// Every point is drawn; at most ``maximumLabels`` labels are, in the order of the points (so a caller puts the
/// points it most wants named first), each inside the frame and clear of the labels placed before it: beside its
/// point when there is room, else nearby, joined to its point by a thin line, else not at all. A point with an empty
/// label is drawn small and unnamed, so a map of 15,000 tokens stays a readable cloud with its ~100 names.
public struct ScatterPlot {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var points: [(x: Double, y: Double, label: String)]
    /// The most labels drawn.
    public var maximumLabels: Int
    /// Axis ranges to draw instead of the points' own (to show two pictures on one scale).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?

    /// The font size of the point labels, and the width of one character of that monospace font (0.6 em).
    public static let fontSize = 11.0
    public static let characterWidth = 0.6 * fontSize

    public init(title: String, xLabel: String, yLabel: String, points: [(x: Double, y: Double, label: String)],
                maximumLabels: Int = 100, xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.maximumLabels = maximumLabels
        self.xRange = xRange
        self.yRange = yRange
    }

    /// The range of `values`, or `0...1` when there are none, widened when it is a single value.
    public static func range(_ values: [Double]) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else { return 0...1 }
        return low < high ? low...high : (low - 0.5)...(high + 0.5)
    }

    public func svg(width: Double = 760, height: Double = 620) -> String {
        let margin = 60.0
        let frame = (left: margin, top: margin, right: width - margin, bottom: height - margin)
        let xs = xRange ?? Self.range(points.map(\.x)), ys = yRange ?? Self.range(points.map(\.y))
        func px(_ x: Double) -> Double { frame.left + (x - xs.lowerBound) / (xs.upperBound - xs.lowerBound) * (frame.right - frame.left) }
        func py(_ y: Double) -> Double { frame.bottom - (y - ys.lowerBound) / (ys.upperBound - ys.lowerBound) * (frame.bottom - frame.top) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="monospace" font-size="\(fmt(Self.fontSize))">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(fmt(width / 2))" y="24" text-anchor="middle" font-family="sans-serif" font-size="15">\(escapeXML(title))</text>
            <rect class="frame" x="\(fmt(frame.left))" y="\(fmt(frame.top))" width="\(fmt(frame.right - frame.left))" height="\(fmt(frame.bottom - frame.top))" fill="none" stroke="#999"/>
            <text x="\(fmt(width / 2))" y="\(fmt(height - 18))" text-anchor="middle" font-family="sans-serif">\(escapeXML(xLabel))</text>
            <text transform="translate(14 \(fmt(height / 2))) rotate(-90)" text-anchor="middle" font-family="sans-serif">\(escapeXML(yLabel))</text>

            """
        // Axis values, so distances between points can be read off.
        for (tick, label) in tickLabels(niceTicks(xs.lowerBound, xs.upperBound)) where xs.contains(tick) {
            out += "<line x1=\"\(fmt(px(tick)))\" x2=\"\(fmt(px(tick)))\" y1=\"\(fmt(frame.bottom))\" y2=\"\(fmt(frame.bottom + 5))\" stroke=\"#999\"/>\n"
            out += "<text x=\"\(fmt(px(tick)))\" y=\"\(fmt(frame.bottom + 17))\" text-anchor=\"middle\" font-family=\"sans-serif\" fill=\"#555\">\(label)</text>\n"
        }
        for (tick, label) in tickLabels(niceTicks(ys.lowerBound, ys.upperBound)) where ys.contains(tick) {
            out += "<line x1=\"\(fmt(frame.left - 5))\" x2=\"\(fmt(frame.left))\" y1=\"\(fmt(py(tick)))\" y2=\"\(fmt(py(tick)))\" stroke=\"#999\"/>\n"
            out += "<text x=\"\(fmt(frame.left - 8))\" y=\"\(fmt(py(tick) + 4))\" text-anchor=\"end\" font-family=\"sans-serif\" fill=\"#555\">\(label)</text>\n"
        }
        let labelled = Set(points.indices.filter { !points[$0].label.isEmpty }.prefix(maximumLabels))
        // Unnamed points first and faint, so the named ones stay on top.
        for (i, point) in points.enumerated() where !labelled.contains(i) {
            out += "<circle cx=\"\(fmt(px(point.x)))\" cy=\"\(fmt(py(point.y)))\" r=\"1.5\" fill=\"#1f5fbf\" fill-opacity=\"0.35\"/>\n"
        }
        var placer = LabelPlacer(frame: frame, markers: labelled.map { (px(points[$0].x), py(points[$0].y)) })
        for (i, point) in points.enumerated() where labelled.contains(i) {
            let x = px(point.x), y = py(point.y), label = visibleLabel(point.label)
            out += "<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"3\" fill=\"#1f5fbf\"/>\n"
            guard let box = placer.place(width: Double(label.unicodeScalars.count) * Self.characterWidth, at: (x, y)) else { continue }
            if box.leader {
                let targetX = min(max(x, box.left), box.left + box.width), targetY = box.baseline - 4
                out += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(y))\" x2=\"\(fmt(targetX))\" y2=\"\(fmt(targetY))\" stroke=\"#bbb\" stroke-width=\"0.7\"/>\n"
            }
            out += "<text class=\"label\" x=\"\(fmt(box.left))\" y=\"\(fmt(box.baseline))\" stroke=\"white\" stroke-width=\"3\" "
                + "paint-order=\"stroke\">\(escapeXML(label))</text>\n"
        }
        return out + "</svg>\n"
    }
}

/// Finds free places for labels inside a frame: beside the point (right, left, above, below), else on rings of
/// growing distance around it.
struct LabelPlacer {
    typealias Box = (left: Double, baseline: Double, width: Double, leader: Bool)
    let frame: (left: Double, top: Double, right: Double, bottom: Double)
    /// Points that carry labels: no label may cover one.
    let markers: [(x: Double, y: Double)]
    var placed: [(left: Double, top: Double, right: Double, bottom: Double)] = []
    static let lineHeight = ScatterPlot.fontSize + 1

    init(frame: (left: Double, top: Double, right: Double, bottom: Double), markers: [(Double, Double)]) {
        self.frame = frame
        self.markers = markers.map { (x: $0.0, y: $0.1) }
    }

    /// A free box for a label `width` wide belonging to the point `at`, recorded as taken; nil when none is free.
    mutating func place(width: Double, at point: (x: Double, y: Double)) -> Box? {
        let h = Self.lineHeight
        var candidates: [(left: Double, top: Double, leader: Bool)] = [
            (point.x + 5, point.y - h / 2, false), (point.x - 5 - width, point.y - h / 2, false),
            (point.x - width / 2, point.y - 4 - h, false), (point.x - width / 2, point.y + 4, false),
        ]
        for ring in 1...8 {
            let distance = Double(ring) * h
            for step in 0..<16 {
                let angle = Double(step) * .pi / 8
                candidates.append((point.x + distance * 1.6 * cos(angle) - width / 2, point.y + distance * sin(angle) - h / 2, true))
            }
        }
        for candidate in candidates {
            let box = (left: candidate.left, top: candidate.top, right: candidate.left + width, bottom: candidate.top + h)
            guard box.left >= frame.left + 1, box.right <= frame.right - 1, box.top >= frame.top + 1,
                  box.bottom <= frame.bottom - 1 else { continue }
            if placed.contains(where: { box.left < $0.right && $0.left < box.right && box.top < $0.bottom && $0.top < box.bottom }) {
                continue
            }
            if markers.contains(where: { $0.x > box.left - 2 && $0.x < box.right + 2 && $0.y > box.top - 2 && $0.y < box.bottom + 2 }) {
                continue
            }
            placed.append(box)
            return (box.left, box.top + h - 3, width, candidate.leader)
        }
        return nil
    }
}

/// A token's text made visible: spaces as `·`, line breaks and tabs as `\n`, `\r`, `\t`, other control characters
/// as `\u{1}`.
public func visibleLabel(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case " ": out += "·"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.properties.generalCategory == .control: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
