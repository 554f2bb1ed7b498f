import Foundation  // expf

// SiLU and the gated feed-forward of the Llama and Qwen families (SwiGLU), each forward with its backward below it.
// Elementwise over tensors of one shape; F the feed-forward's hidden width.

extension Tensor {
    // MARK: - SiLU

    /// `x·σ(x)`, elementwise (PyTorch's `F.silu`, Llama's `hidden_act` "silu").
    public func silu() -> Tensor {
        pointwise(forward: siluForward, backward: siluBackward)
    }

    // MARK: - SwiGLU

    /// `silu(gate) ⊙ up` in one op (Llama's `act_fn(gate_proj(x)) * up_proj(x)`): `self` is the gate, `up` the same
    /// shape, `[N..., F] -> [N..., F]`. One pass and no intermediate tensor of `silu(gate)`.
    public func siluGated(by up: Tensor) -> Tensor {
        precondition(up.shape == shape, "siluGated: the gate \(shape) and up \(up.shape) differ")
        let out = TensorStorage(uninitialized: count)
        let o = SendablePointer(out.pointer), g = SendablePointer(storage.pointer), u = SendablePointer(up.storage.pointer)
        parallelFor(count, minimumChunk: 16_384) { range in
            for i in range {
                let x = g.base[i]
                o.base[i] = x / (1 + expf(-x)) * u.base[i]
            }
        }
        return Tensor(shape: shape, storage: out, parents: [self, up]) { dy in
            let dg = self.requiresGrad ? SendablePointer(self.ensureGradient().pointer) : nil
            let du = up.requiresGrad ? SendablePointer(up.ensureGradient().pointer) : nil
            let gradient = SendablePointer(dy.pointer)
            parallelFor(self.count, minimumChunk: 16_384) { range in
                for i in range {
                    let x = g.base[i], sigmoid = 1 / (1 + expf(-x)), d = gradient.base[i]
                    // d silu(x)/dx = σ(x) (1 + x (1 - σ(x))).
                    dg?.base[i] += d * u.base[i] * sigmoid * (1 + x * (1 - sigmoid))
                    du?.base[i] += d * x * sigmoid
                }
            }
        }
    }
}

/// `out[i] = input[i]·σ(input[i])`.
public func siluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let o = SendablePointer(out), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    parallelFor(count, minimumChunk: 16_384) { range in
        for i in range { o.base[i] = x.base[i] / (1 + expf(-x.base[i])) }
    }
}

/// `inputGradient[i] += σ(x) (1 + x (1 - σ(x))) * outputGradient[i]`, with `x = input[i]`.
public func siluBackward(
    inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int
) {
    let dx = SendablePointer(inputGradient), x = SendablePointer(UnsafeMutablePointer(mutating: input))
    let dy = SendablePointer(UnsafeMutablePointer(mutating: outputGradient))
    parallelFor(count, minimumChunk: 16_384) { range in
        for i in range {
            let v = x.base[i], sigmoid = 1 / (1 + expf(-v))
            dx.base[i] += sigmoid * (1 + v * (1 - sigmoid)) * dy.base[i]
        }
    }
}
