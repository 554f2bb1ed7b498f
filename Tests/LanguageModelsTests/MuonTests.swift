import Foundation
import LanguageModels
import NN
import TensorModule
import Testing
import _TestSupport

/// Muon against `torch.optim.Muon` (two steps on a wide, a tall and a square matrix; fixture from
/// `Scripts/make_muon_fixtures.py`): equal to 1e-5 when PyTorch's Newton-Schulz runs in fp32 as here, and within
/// bfloat16's rounding of the real optimizer (its iteration in bfloat16).
@Suite struct MuonTests {
    @Test func twoStepsMatchTorchOptimMuon() throws {
        try twoSteps(fixture: "muon", settings: .init(learningRate: 0.02, momentum: 0.95, nesterov: true, weightDecay: 0.1)) { fixture, name, step, values in
            let exact = compare(values, fixture["fp32.step\(step).\(name)"]!.values, absolute: 1e-5, relative: 1e-4)
            #expect(exact.passed, "\(name), step \(step), against fp32 Newton-Schulz: \(exact)")
            // bfloat16 keeps 8 bits: the orthogonalised update (entries about 0.3) moves by up to ~1%, times lr.
            let bf16 = compare(values, fixture["step\(step).\(name)"]!.values, absolute: 2e-3, relative: 0)
            #expect(bf16.passed, "\(name), step \(step), against torch.optim.Muon: \(bf16)")
        }
    }

    /// Polar Express alone, then with NorMuon and cautious weight decay, against the PyTorch reference of
    /// `Scripts/make_muon2026_fixtures.py` (fp32), two steps.
    @Test(arguments: ["polar", "all"])
    func refinementsMatchTheReference(variant: String) throws {
        var settings = Muon.Settings(learningRate: 0.02, momentum: 0.95, nesterov: true, weightDecay: 0.1)
        settings.polarExpress = true
        (settings.beta2, settings.cautiousWeightDecay) = variant == "all" ? (0.95, true) : (0, false)
        try twoSteps(fixture: "muon2026", settings: settings) { fixture, name, step, values in
            let result = compare(values, fixture["\(variant).step\(step).\(name)"]!.values, absolute: 1e-5, relative: 1e-4)
            #expect(result.passed, "\(variant), \(name), step \(step): \(result)")
        }
    }

    /// Two Muon steps with `settings` from a fixture's `initial.NAME` weights and `gradSTEP.NAME` gradients (a wide,
    /// a tall and a square matrix), handing each matrix's values after each step to `check`.
    func twoSteps(fixture name: String, settings: Muon.Settings,
                  check: ([String: (shape: [Int], values: [Float])], String, Int, [Float]) -> Void) throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors"))
        let fixture = try SafeTensors.read(url).tensors
        let names = ["wide", "tall", "square"]
        let parameters = names.map { Tensor(shape: fixture["initial.\($0)"]!.shape, values: fixture["initial.\($0)"]!.values, requiresGrad: true) }
        let optimizer = Muon(parameters: parameters, settings: settings)
        for step in 1...2 {
            for (name, parameter) in zip(names, parameters) {
                parameter.clearGradient()
                (parameter * Tensor(shape: parameter.shape, values: fixture["grad\(step).\(name)"]!.values)).sum().backward()
            }
            optimizer.update()
            for (name, parameter) in zip(names, parameters) { check(fixture, name, step, parameter.values) }
        }
    }

    @Test func newtonSchulzOrthogonalisesApproximately() {
        // The quintic iteration drives singular values into roughly [0.5, 1.5] (not exactly 1): X Xᵀ near I.
        var generator = SeededGenerator(seed: 5)
        let g = Tensor.normal([6, 10], generator: &generator).values
        let x = newtonSchulz(g, rows: 6, columns: 10, settings: Muon.Settings())
        for i in 0..<6 {
            let diagonal = (0..<10).reduce(Float(0)) { $0 + x[i * 10 + $1] * x[i * 10 + $1] }
            #expect(diagonal > 0.25 && diagonal < 2.25, "row \(i): \(diagonal)")
        }
    }
}
