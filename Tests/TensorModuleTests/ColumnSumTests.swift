import TensorModule
import Testing
import _TestSupport

/// Column sums (bias gradients, a broadcast add's gradient) and element-wise sums, at widths that take each path
/// of the vectorized loops (32 columns at a time, then 8, then 1), against sums written out in Double.
@Suite struct ColumnSumTests {
    static let rows = 13, widths = [5, 8, 45, 77]

    @Test(arguments: widths) func biasGradientIsTheColumnSum(width: Int) {
        let x = randomTensor([Self.rows, 6], seed: 1, requiresGrad: false)
        let weight = randomTensor([width, 6], seed: 2), bias = randomTensor([width], seed: 3)
        let upstream = randomTensor([Self.rows, width], seed: 4, requiresGrad: false).values
        (x.linear(weight: weight, bias: bias) * Tensor(shape: [Self.rows, width], values: upstream)).sum().backward()
        let expected = (0..<width).map { j in (0..<Self.rows).reduce(0.0) { $0 + Double(upstream[$1 * width + j]) } }
        #expect(compare(bias.gradient!, expected.map(Float.init), absolute: 1e-5).passed)
    }

    @Test(arguments: widths) func broadcastAddSumsTheGradientOverRows(width: Int) {
        let x = randomTensor([Self.rows, width], seed: 5), b = randomTensor([width], seed: 6)
        let sum = x + b
        let expectedValues = (0..<(Self.rows * width)).map { x.values[$0] + b.values[$0 % width] }
        #expect(sum.values == expectedValues)
        let upstream = randomTensor([Self.rows, width], seed: 7, requiresGrad: false).values
        (sum * Tensor(shape: [Self.rows, width], values: upstream)).sum().backward()
        let expected = (0..<width).map { j in (0..<Self.rows).reduce(0.0) { $0 + Double(upstream[$1 * width + j]) } }
        #expect(compare(b.gradient!, expected.map(Float.init), absolute: 1e-5).passed)
    }

    @Test(arguments: widths) func equalShapesAddElementwise(width: Int) {
        let a = randomTensor([Self.rows, width], seed: 8, requiresGrad: false)
        let b = randomTensor([Self.rows, width], seed: 9, requiresGrad: false)
        #expect((a + b).values == zip(a.values, b.values).map { $0 + $1 })
    }
}
