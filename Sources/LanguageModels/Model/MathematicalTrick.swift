import TensorModule

/// The "mathematical trick" of self-attention: each position becomes the average of itself and every position
/// before it, `out[b, t] = mean(x[b, 0...t])`, computed three equal ways (the lecture's version 1, 2 and 3).
///
/// Shapes: `x` is `[B, T, C]` (batch, time, channels); the result has the same shape.
public enum CausalAverage: CaseIterable, Sendable {
    /// Version 1: an explicit loop over the past for every position.
    case loop
    /// Version 2: multiply by a lower-triangular matrix whose rows sum to one, `wei @ x` with `wei` `[T, T]`.
    case triangularMatmul
    /// Version 3: start from zero affinities, mask the future with `-inf`, softmax each row: the uniform weights
    /// that attention later replaces with data-dependent ones.
    case maskedSoftmax

    /// The causal average of `x` (`[B, T, C]`).
    public func apply(_ x: Tensor) -> Tensor {
        let t = x.shape[1]
        switch self {
        case .loop:
            let (b, c) = (x.shape[0], x.shape[2])
            var values = [Float](repeating: 0, count: x.count)
            let input = x.values
            for batch in 0..<b {
                for time in 0..<t {
                    for channel in 0..<c {
                        var sum: Float = 0
                        for past in 0...time { sum += input[(batch * t + past) * c + channel] }
                        values[(batch * t + time) * c + channel] = sum / Float(time + 1)
                    }
                }
            }
            return Tensor(shape: x.shape, values: values)
        case .triangularMatmul:
            var weights = [Float](repeating: 0, count: t * t)
            for row in 0..<t { for column in 0...row { weights[row * t + column] = 1 / Float(row + 1) } }
            return Tensor(shape: [t, t], values: weights).matmul(x.transposed(0, 1).reshaped([t, -1]))  // (T, B*C)
                .reshaped([t, x.shape[0], x.shape[2]]).transposed(0, 1)  // (B, T, C)
        case .maskedSoftmax:
            let weights = Tensor.zeros([1, t, t]).causallyMasked().softmax()  // (1, T, T)
            let batch = x.shape[0]
            let repeated = Tensor.concatenate(Array(repeating: weights, count: batch), axis: 0)  // (B, T, T)
            return repeated.matmul(x)  // (B, T, C)
        }
    }
}
