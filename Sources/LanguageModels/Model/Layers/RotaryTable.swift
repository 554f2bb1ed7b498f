import Foundation
import NN
import TensorModule

// Self-attention, readable first and fast second. B batch, T time, C embedding size (channels), H heads,
// D = C / H the head size.

/// The rotary embedding's `cos` and `sin` of every position and pair, `[blockSize, D/2]` each: the angle of pair
/// `i` at position `t` is `t / θ^(2i/D)` (Hugging Face LLaMA's `inv_freq`, in fp32 as there), its frequency rescaled
/// by ``ModelConfiguration/ropeScaling``.
struct RotaryTable {
    let cosine: TensorStorage, sine: TensorStorage

    /// The table of `configuration`; `nil` without rotary positions.
    init?(_ configuration: ModelConfiguration) {
        guard configuration.positionEncoding == .rope else { return nil }
        let half = configuration.headSize / 2, positions = configuration.blockSize
        cosine = TensorStorage(zeros: positions * half)
        sine = TensorStorage(zeros: positions * half)
        let frequencies = configuration.rotaryFrequencies
        for t in 0..<positions {
            for i in 0..<half {
                let angle = Float(t) * frequencies[i]
                cosine.pointer[t * half + i] = Foundation.cos(angle)
                sine.pointer[t * half + i] = Foundation.sin(angle)
            }
        }
    }
}
