import Testing
import TensorModule
import _TestSupport

/// Cross-entropy with left-out targets (PyTorch's `ignore_index`, here any negative target): the loss is the mean
/// over the counted rows only, and a left-out row gets no gradient at all.
@Suite struct MaskedCrossEntropyTests {
    static let targets = [2, -1, 0, -1, 5, 1]

    @Test func forwardAndBackwardMatchTheNaiveReferenceAndFiniteDifferences() {
        let logits = randomTensor([2, 3, 6], seed: 21)
        let check = checkOp("masked crossEntropy", inputs: [logits], reference: {
            [Naive.crossEntropy($0[0], targets: Self.targets, classes: 6)]
        }) { $0[0].crossEntropy(targets: Self.targets) }
        #expect(check.passed, "\(check)")
    }

    @Test func leftOutRowsGetNoGradientAndDoNotCount() {
        let logits = randomTensor([6, 6], seed: 22)
        let loss = logits.crossEntropy(targets: Self.targets)
        loss.backward()
        let gradient = logits.gradient!
        for (row, target) in Self.targets.enumerated() {
            let slice = gradient[(row * 6)..<(row * 6 + 6)]
            if target < 0 {
                #expect(slice.allSatisfy { $0 == 0 }, "row \(row) is left out but has gradient \(Array(slice))")
            } else {
                #expect(slice.contains { $0 != 0 }, "row \(row) counts but has no gradient")
            }
        }
        // The mean over the four counted rows: the same as the loss of those rows alone.
        let kept = [0, 2, 4, 5]
        let values = logits.values
        let alone = Tensor(shape: [4, 6], values: kept.flatMap { values[($0 * 6)..<($0 * 6 + 6)] })
        #expect(abs(loss.item - alone.crossEntropy(targets: kept.map { Self.targets[$0] }).item) < 1e-6)
    }

    @Test func everyRowLeftOutGivesAZeroLossAndGradient() {
        let logits = randomTensor([3, 4], seed: 23)
        let loss = logits.crossEntropy(targets: [-1, -1, Tensor.ignoredTarget])
        loss.backward()
        #expect(loss.item == 0)
        #expect(logits.gradient!.allSatisfy { $0 == 0 })
    }
}
