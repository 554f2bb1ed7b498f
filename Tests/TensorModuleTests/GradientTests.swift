import Testing
import TensorModule
import _TestSupport

/// Every op's forward against a naive `Double` reference and its backward against central finite differences
/// (``checkOp(_:inputs:reference:forwardTolerance:epsilon:gradientTolerance:op:)``).
@Suite struct GradientTests {
    func expectPasses(_ check: OpCheck, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(check.passed, "\(check)", sourceLocation: sourceLocation)
    }

    func expectAllPass(_ results: [Comparison], _ name: String) {
        #expect(!results.isEmpty, "\(name): no input required a gradient")
        for (i, result) in results.enumerated() {
            #expect(result.passed, "\(name) input \(i): \(result)")
        }
    }

    @Test func linearWithBias() {
        let x = randomTensor([2, 3, 5], seed: 1), w = randomTensor([4, 5], seed: 2), b = randomTensor([4], seed: 3)
        for relu in [false, true] {
            expectPasses(checkOp("linear relu: \(relu)", inputs: [x, w, b], reference: {
                Naive.linear($0[0], weight: $0[1], bias: $0[2], inputs: 5, relu: relu)
            }) { $0[0].linear(weight: $0[1], bias: $0[2], relu: relu) })
        }
    }

    /// A batch large enough that the weight gradient is split along the tokens (and the bias gradient across
    /// cores): loss = Σ y ⊙ r, so dy = r, against the gradients written out in Double.
    @Test func linearOnALargeBatchMatchesFormulas() {
        let (rows, inputs, outputs) = (2100, 6, 5)
        let x = randomTensor([rows, inputs], seed: 21), w = randomTensor([outputs, inputs], seed: 22)
        let b = randomTensor([outputs], seed: 23), r = randomTensor([rows, outputs], seed: 24, requiresGrad: false)
        (x.linear(weight: w, bias: b) * r).sum().backward()
        let (xv, wv, rv) = (x.values, w.values, r.values)
        var dW = [Double](repeating: 0, count: outputs * inputs), db = [Double](repeating: 0, count: outputs)
        var dx = [Double](repeating: 0, count: rows * inputs)
        for n in 0..<rows {
            for o in 0..<outputs {
                let g = Double(rv[n * outputs + o])
                db[o] += g
                for i in 0..<inputs {
                    dW[o * inputs + i] += g * Double(xv[n * inputs + i])
                    dx[n * inputs + i] += g * Double(wv[o * inputs + i])
                }
            }
        }
        for (name, actual, expected) in [("dW", w.gradient!, dW), ("db", b.gradient!, db), ("dx", x.gradient!, dx)] {
            let result = compare(actual, expected.map { Float($0) }, absolute: 1e-3, relative: 1e-4)
            #expect(result.passed, "\(name): \(result)")
        }
    }

    @Test func batchedMatmul() {
        let a = randomTensor([2, 3, 4], seed: 4), b = randomTensor([2, 4, 5], seed: 5)
        expectPasses(checkOp("matmul", inputs: [a, b], reference: {
            Naive.matmul($0[0], $0[1], batch: 2, m: 3, k: 4, n: 5)
        }) { $0[0].matmul($0[1]) })
        let shared = randomTensor([4, 2], seed: 6)
        expectPasses(checkOp("matmul shared", inputs: [a, shared], reference: {
            Naive.matmul($0[0], $0[1], batch: 2, m: 3, k: 4, n: 2, sharedB: true)
        }) { $0[0].matmul($0[1]) })
    }

    @Test func broadcastingAddAndMultiply() {
        let a = randomTensor([2, 3, 4], seed: 7), b = randomTensor([3, 4], seed: 8), c = randomTensor([2, 1, 4], seed: 9)
        expectPasses(checkOp("add", inputs: [a, b], reference: { Naive.broadcast($0[0], [2, 3, 4], $0[1], [3, 4], +) }) {
            $0[0] + $0[1]
        })
        expectPasses(checkOp("multiply", inputs: [a, c], reference: {
            Naive.broadcast($0[0], [2, 3, 4], $0[1], [2, 1, 4], *)
        }) { $0[0] * $0[1] })
        expectPasses(checkOp("scale+mean", inputs: [a], reference: { [$0[0].reduce(0, +) * 0.3 / 24] }) {
            $0[0].scaled(by: 0.3).mean()
        })
    }

    /// Gradients written instead of added (a gradient met first), and a residual sum handing its gradient buffer
    /// to an intermediate tensor: chains where one tensor feeds several consumers, and `y + y`.
    @Test func sharedTensorsAndResidualSums() {
        let x = randomTensor([3, 4], seed: 31), w = randomTensor([4, 4], seed: 32), v = randomTensor([4], seed: 33)
        expectAllPass(checkGradients([x, w, v]) { t in
            let y = t[0].linear(weight: t[1])  // an intermediate: adopts the residual's gradient below
            let h = y + y.relu().linear(weight: t[1], bias: t[2])
            return (h + h).layerNorm(weight: t[2], bias: nil) * h
        }, "residual")
    }

    @Test func activations() {
        // Keep inputs away from ReLU's kink, where finite differences are undefined.
        let x = Tensor(shape: [2, 5], values: [-2, -1.1, -0.5, 0.4, 1.3, 2.2, -0.3, 0.7, -1.7, 0.9], requiresGrad: true)
        let cases: [(String, (Double) -> Double, (Tensor) -> Tensor)] = [
            ("relu", { max(0, $0) }, { $0.relu() }), ("gelu_tanh", Naive.geluTanh, { $0.geluTanh() }),
            ("gelu", Naive.gelu, { $0.gelu() }), ("relu²", { max(0, $0) * max(0, $0) }, { $0.reluSquared() }),
        ]
        for (name, formula, op) in cases {
            expectPasses(checkOp(name, inputs: [x], reference: { $0[0].map(formula) }) { op($0[0]) })
        }
    }

    @Test func softmaxAndCrossEntropy() {
        let x = randomTensor([3, 6], seed: 10)
        expectPasses(checkOp("softmax", inputs: [x], reference: { Naive.softmax($0[0], columns: 6) }) { $0[0].softmax() })
        expectPasses(checkOp("crossEntropy", inputs: [x], reference: {
            [Naive.crossEntropy($0[0], targets: [1, 5, 0], classes: 6)]
        }) { $0[0].crossEntropy(targets: [1, 5, 0]) })
        let logits3 = randomTensor([2, 2, 4], seed: 11)
        expectPasses(checkOp("crossEntropy 3-D", inputs: [logits3], reference: {
            [Naive.crossEntropy($0[0], targets: [3, 0, 1, 2], classes: 4)]
        }) { $0[0].crossEntropy(targets: [3, 0, 1, 2]) })
    }

    @Test func layerNorm() {
        let x = randomTensor([4, 6], seed: 12), w = randomTensor([6], seed: 13), b = randomTensor([6], seed: 14)
        expectPasses(checkOp("layerNorm", inputs: [x, w, b], reference: { Naive.layerNorm($0[0], weight: $0[1], bias: $0[2]) }) {
            $0[0].layerNorm(weight: $0[1], bias: $0[2])
        })
    }

    @Test func embeddingLookup() {
        let table = randomTensor([5, 3], seed: 15), indices = [0, 4, 4, 2]
        expectPasses(checkOp("embedding", inputs: [table], reference: { t in indices.flatMap { t[0][($0 * 3)..<($0 * 3 + 3)] } }) {
            $0[0].embedding(indices: indices, shape: [2, 2])
        })
    }

    @Test func dropoutRoutesThroughMask() {
        let x = randomTensor([4, 8], seed: 16)
        // Same seed inside the closure: the mask is identical on every evaluation.
        expectAllPass(checkGradients([x]) { inputs in
            var generator = SeededGenerator(seed: 99)
            return inputs[0].dropout(probability: 0.3, generator: &generator)
        }, "dropout")
    }

    @Test func shapeOps() {
        let x = randomTensor([2, 3, 4], seed: 17), y = randomTensor([2, 3, 2], seed: 18)
        expectPasses(checkOp("reshape+transpose", inputs: [x], reference: { Naive.permute($0[0], shape: [6, 4], order: [1, 0]) }) {
            $0[0].reshaped([6, 4]).transposed()
        })
        expectPasses(checkOp("permute", inputs: [x], reference: { Naive.permute($0[0], shape: [2, 3, 4], order: [1, 2, 0]) }) {
            $0[0].permuted([1, 2, 0])
        })
        expectPasses(checkOp("split", inputs: [x], reference: { Naive.slice($0[0], shape: [2, 3, 4], axis: 2, 1..<4) }) {
            $0[0].split([1, 3], axis: -1)[1]
        })
        expectPasses(checkOp("concatenate", inputs: [x, y], reference: {
            Naive.concatenate([($0[0], [2, 3, 4]), ($0[1], [2, 3, 2])], axis: 2)
        }) { Tensor.concatenate([$0[0], $0[1]], axis: 2) })
        expectPasses(checkOp("slice middle axis", inputs: [x], reference: { Naive.slice($0[0], shape: [2, 3, 4], axis: 1, 1..<3) }) {
            $0[0].sliced(1..<3, axis: 1)
        })
    }

    @Test func causalMaskThenSoftmax() {
        let scores = randomTensor([2, 4, 4], seed: 19)
        expectPasses(checkOp("masked softmax", inputs: [scores], reference: {
            Naive.softmax(Naive.causallyMasked($0[0], size: 4), columns: 4)
        }) { $0[0].causallyMasked().softmax() })
    }
}
