import Foundation

/// A grid of attention heatmaps as SVG: one panel per (layer, head), rows the querying position, columns the
/// attended position, white (0) to dark blue (1), with the tokens along the axes and a labelled colour scale.
public struct AttentionHeatmaps {
    public var tokens: [String]
    /// `weights[layer][head]`, each `[T, T]` row-major.
    public var weights: [[[Float]]]

    public init(tokens: [String], weights: [[[Float]]]) {
        self.tokens = tokens.map(visibleLabel)
        self.weights = weights
    }

    public func svg() -> String {
        let t = tokens.count
        let cell = max(6.0, min(18.0, 220.0 / Double(max(t, 1))))
        let labelSpace = Double(min(tokens.map(\.count).max() ?? 1, 6)) * 7 + 10
        let panel = cell * Double(t)
        let layers = weights.count, heads = weights.first?.count ?? 0
        let gap = 24.0, top = 50.0 + labelSpace
        let width = labelSpace + Double(heads) * (panel + gap) + 90
        let height = top + Double(layers) * (panel + gap + 14) + 20
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="monospace" font-size="\(fmt(min(11, cell * 0.9)))">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="20" font-family="sans-serif" font-size="14">Attention weights (row: position attending; column: position attended)</text>

            """
        for layer in 0..<layers {
            for head in 0..<heads {
                let x0 = labelSpace + Double(head) * (panel + gap)
                let y0 = top + Double(layer) * (panel + gap + 14)
                out += "<text x=\"\(fmt(x0))\" y=\"\(fmt(y0 - 4))\" font-family=\"sans-serif\" font-size=\"11\">layer \(layer) head \(head)</text>\n"
                let map = weights[layer][head]
                for i in 0..<t {
                    for j in 0..<t {
                        let value = Double(map[i * t + j])
                        out += "<rect x=\"\(fmt(x0 + Double(j) * cell))\" y=\"\(fmt(y0 + Double(i) * cell))\" width=\"\(fmt(cell))\" height=\"\(fmt(cell))\" fill=\"\(color(value))\"><title>\(escapeXML(tokens[i])) → \(escapeXML(tokens[j])): \(String(format: "%.3f", value))</title></rect>\n"
                    }
                }
                out += "<rect x=\"\(fmt(x0))\" y=\"\(fmt(y0))\" width=\"\(fmt(panel))\" height=\"\(fmt(panel))\" fill=\"none\" stroke=\"#888\"/>\n"
                if head == 0 {
                    for (i, token) in tokens.enumerated() {
                        out += "<text x=\"\(fmt(x0 - 4))\" y=\"\(fmt(y0 + (Double(i) + 0.8) * cell))\" text-anchor=\"end\">\(escapeXML(String(token.prefix(6))))</text>\n"
                    }
                }
                if layer == 0 {
                    for (j, token) in tokens.enumerated() {
                        let x = x0 + (Double(j) + 0.7) * cell
                        out += "<text transform=\"translate(\(fmt(x)) \(fmt(y0 - 16))) rotate(-90)\">\(escapeXML(String(token.prefix(6))))</text>\n"
                    }
                }
            }
        }
        // Colour scale.
        let scaleX = width - 60
        for step in 0...10 {
            let value = 1 - Double(step) / 10
            out += "<rect x=\"\(fmt(scaleX))\" y=\"\(fmt(top + Double(step) * 12))\" width=\"14\" height=\"12\" fill=\"\(color(value))\" stroke=\"#ccc\" stroke-width=\"0.5\"/>\n"
        }
        out += "<text x=\"\(fmt(scaleX + 18))\" y=\"\(fmt(top + 10))\" font-size=\"10\">1.0</text>\n"
        out += "<text x=\"\(fmt(scaleX + 18))\" y=\"\(fmt(top + 130))\" font-size=\"10\">0.0</text>\n"
        out += "<text x=\"\(fmt(scaleX - 4))\" y=\"\(fmt(top - 6))\" font-size=\"10\" font-family=\"sans-serif\">weight</text>\n"
        return out + "</svg>\n"
    }

    /// White at 0 to dark blue at 1.
    func color(_ value: Double) -> String {
        let v = min(1, max(0, value))
        let r = Int(255 - v * (255 - 16)), g = Int(255 - v * (255 - 60)), b = Int(255 - v * (255 - 140))
        return String(format: "#%02x%02x%02x", r, g, b)
    }
}

/// Horizontal bars of probabilities with their labels and values, as SVG (the softmax of the next-token logits).
public struct ProbabilityBars {
    public var title: String
    public var bars: [(label: String, probability: Double)]

    public init(title: String, bars: [(label: String, probability: Double)]) {
        self.title = title
        self.bars = bars
    }

    public func svg() -> String {
        let rowHeight = 20.0, left = 90.0, barWidth = 420.0
        let height = 50 + Double(bars.count) * rowHeight + 30
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(left + barWidth + 80))" height="\(fmt(height))" \
            font-family="monospace" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="22" font-family="sans-serif" font-size="14">\(escapeXML(title))</text>

            """
        for (i, bar) in bars.enumerated() {
            let y = 40 + Double(i) * rowHeight
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 14))\" text-anchor=\"end\">\(escapeXML(visibleLabel(bar.label)))</text>\n"
            out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(y + 3))\" width=\"\(fmt(max(1, bar.probability * barWidth)))\" height=\"\(fmt(rowHeight - 6))\" fill=\"#1f5fbf\"/>\n"
            out += "<text x=\"\(fmt(left + bar.probability * barWidth + 6))\" y=\"\(fmt(y + 14))\">\(String(format: "%.3f", bar.probability))</text>\n"
        }
        let axisY = 40 + Double(bars.count) * rowHeight + 4
        out += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(left + barWidth))\" y1=\"\(fmt(axisY))\" y2=\"\(fmt(axisY))\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(fmt(left))\" y=\"\(fmt(axisY + 16))\" font-size=\"10\">0</text>"
        out += "<text x=\"\(fmt(left + barWidth))\" y=\"\(fmt(axisY + 16))\" font-size=\"10\" text-anchor=\"end\">probability 1</text>\n"
        return out + "</svg>\n"
    }
}
