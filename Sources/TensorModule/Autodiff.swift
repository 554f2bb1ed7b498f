/// Whether ops record the graph that ``Tensor/backward()`` walks.
///
/// Off inside ``withoutGradient(_:)``, as PyTorch's `torch.no_grad()`: evaluation and sampling then keep no graph.
/// It is a task-local value, so it is scoped and never global mutable state.
public enum GradientMode {
    @TaskLocal static var enabledValue = true

    /// Whether ops currently record gradients.
    public static var isEnabled: Bool { enabledValue }
}

/// Runs `body` with gradient recording off (PyTorch's `torch.no_grad()`).
public func withoutGradient<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradientMode.$enabledValue.withValue(false, operation: body)
}

extension Tensor {
    /// Back-propagates from this tensor: seeds its gradient with ones, then calls each recorded op's backward in
    /// reverse topological order, so each node's gradient is complete before it is passed on.
    ///
    /// Gradients accumulate into leaves across calls; clear them with ``clearGradient()`` between steps.
    public func backward() {
        let order = topologicalOrder()
        let seed = ensureGradient()
        seed.pointer.update(repeating: 1, count: count)
        for node in order.reversed() {
            guard let function = node.backwardFunction, let gradient = node.gradientStorage else { continue }
            function(gradient)
            // Every consumer of this node came earlier in the walk, so its gradient is spent: free it now rather
            // than at the end, which keeps peak memory near one layer's gradients. Leaves keep theirs.
            node.gradientStorage = nil
        }
    }

    /// The tensors this one depends on, each after all of its parents (iterative depth-first search).
    func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded {
                order.append(node)
                continue
            }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for parent in node.parents where parent.requiresGrad && !visited.contains(ObjectIdentifier(parent)) {
                stack.append((parent, false))
            }
        }
        return order
    }
}
