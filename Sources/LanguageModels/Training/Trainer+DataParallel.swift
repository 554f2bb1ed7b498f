import Foundation
import TensorModule

// Data parallelism inside one step, for models too small to keep several cores busy within each kernel.
//
// At 64-128 wide a step is about a hundred short kernels; splitting each across cores costs a hand-off per kernel
// and leaves cores idle between them. Instead, each thread takes whole rows of the batch and runs forward and
// backward on them alone (kernels on one thread, gradients collected in a `GradientShard`), and the parts' gradients are
// combined, weighted by their share of the rows, before clipping and the optimizer step. The result is the same
// mean loss and gradient as the whole batch's, summed in another order.

extension Trainer {
    /// The shard count a new trainer uses: one per core (at most one per batch row) for GPT models up to 256 wide,
    /// else 1. `GPT_DATA_PARALLEL=0` turns it off, `GPT_DATA_PARALLEL=N` asks for `N` parts.
    public static func defaultShardCount(model: any LanguageModel, settings: TrainingSettings) -> Int {
        let requested = ProcessInfo.processInfo.environment["GPT_DATA_PARALLEL"].flatMap { Int($0) }
        guard model is GPTLanguageModel, requested != 0 else { return 1 }
        if let requested { return max(1, min(requested, settings.batchSize)) }
        guard model.configuration.embeddingSize <= 256 else { return 1 }
        return max(1, min(kernelThreadCount, settings.batchSize))
    }

    /// Forward and backward over `dataParallelShards` parts of the batch side by side; leaves the combined
    /// gradients in the parameters and returns the batch's mean loss and the gradients' global L2 norm.
    func shardedForwardBackward(_ model: GPTLanguageModel, inputs: [Int], targets: [Int], rows: Int, parts: Int)
        -> (loss: Float, norm: Float)
    {
        let time = settings.blockSize
        let shards = min(parts, rows)
        let bounds = (0...shards).map { rows * $0 / shards }
        // One dropout stream per part, drawn in order from the model's: reproducible and resumable.
        let seeds = (0..<shards).map { _ in model.dropoutGenerator.next() }
        while gradientShards.count < shards { gradientShards.append(GradientShard()) }
        let collectors = Array(gradientShards.prefix(shards))
        for collector in collectors { collector.reset() }
        let losses = UnsafeMutableBufferPointer<Float>.allocate(capacity: shards)
        defer { losses.deallocate() }
        let lossesOut = SendablePointer(losses.baseAddress!), box = UncheckedSendableBox(model)
        var serial = KernelSettings.current  // each part's kernels on its own thread: the parts are the parallelism
        serial.threads = 1
        // Threads claim parts one at a time: with more parts than cores, a core that the machine slows down
        // takes fewer of them instead of holding the step up.
        parallelForClaiming(shards, threads: kernelThreadCount) { shard in
            let rowRange = bounds[shard]..<bounds[shard + 1]
            let part = Array(inputs[(rowRange.lowerBound * time)..<(rowRange.upperBound * time)])
            let partTargets = Array(targets[(rowRange.lowerBound * time)..<(rowRange.upperBound * time)])
            var dropout = SeededGenerator(seed: seeds[shard])
            lossesOut.base[shard] = KernelSettings.with(serial) {
                collectors[shard].collect {
                    let loss = box.value.forward(part, batchSize: rowRange.count, targets: partTargets,
                                                 dropout: &dropout).loss!
                    loss.backward()
                    return loss.item
                }
            }
        }
        // Each part weighs by its share of the targets the loss counts (for text, of the rows).
        let counted = (0..<shards).map { targets[(bounds[$0] * time)..<(bounds[$0 + 1] * time)].filter { $0 >= 0 }.count }
        let allCounted = counted.reduce(0, +)
        let weights = (0..<shards).map {
            allCounted == 0 ? Float(bounds[$0 + 1] - bounds[$0]) / Float(rows) : Float(counted[$0]) / Float(allCounted)
        }
        let norm = GradientShard.accumulate(collectors, weights: weights, into: model.parameters)
        return (zip(weights, losses).reduce(0) { $0 + $1.0 * $1.1 }, norm)
    }
}
