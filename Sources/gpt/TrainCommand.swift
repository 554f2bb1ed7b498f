import ArgumentParser
import Foundation
import LanguageModels

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (default: the baby GPT on the bundled tiny shakespeare), save it, print a sample.",
        discussion: """
            Saves the run in --out: latest/ and best/ (resumable, after each evaluation), log.jsonl, loss.svg, and \
            the final model. Ctrl-C saves latest/ and exits; `gpt train --resume DIR` continues exactly.
            """)

    @OptionGroup(title: "Run") var options: RunOptions
    @OptionGroup(title: "Model") var model: ModelShapeOptions
    @OptionGroup(title: "Schedule and evaluation") var schedule: ScheduleOptions
    @OptionGroup(title: "Optimizer, precision and speedrun") var optimization: OptimizerOptions
    @OptionGroup(title: "Modern architecture (nanochat, the modded-nanogpt speedrun)") var architecture: ArchitectureOptions

    /// The flags as a library recipe: each given option lands in the field of its own name.
    func recipe() throws -> TrainingRecipe {
        var recipe = TrainingRecipe(preset: options.preset)
        (recipe.data.data, recipe.data.tokenizer, recipe.data.vocabSize) = (options.data, options.tokenizer, options.vocabSize)
        recipe.data.skipUnknown = options.skipUnknown ? true : nil
        recipe.data.valFraction = options.valFraction
        recipe.training.maxIters = options.maxIterations
        model.apply(to: &recipe.model)
        architecture.apply(to: &recipe.model)
        schedule.apply(to: &recipe.training)
        optimization.apply(to: &recipe.training)
        return recipe
    }

    func run() throws {
        var interrupted = false
        try reportingErrors {
            let recipe = try recipe()
            let out = options.out.map { URL(fileURLWithPath: $0) }
            let training: TrainingRun
            if let resume = options.resume {
                if options.overwrite || options.initFrom != nil {
                    throw GPTError.invalidArgument(name: options.overwrite ? "--overwrite" : "--init-from",
                                                   reason: "does not go with --resume, which continues a run where it is")
                }
                training = try TrainingRun.resume(URL(fileURLWithPath: resume), recipe: recipe, savingTo: out)
            } else if let initFrom = options.initFrom {
                training = try TrainingRun.fineTune(from: URL(fileURLWithPath: initFrom), recipe: recipe, in: out,
                                                    overwrite: options.overwrite)
            } else {
                training = try TrainingRun.start(recipe, in: out, overwrite: options.overwrite)
            }
            interrupted = try !TrainingReporter(run: training, sampleLength: options.sampleLength).train()
        }
        if interrupted { throw ExitCode(130) }  // as a shell reports a process ended by Ctrl-C
    }
}

/// `gpt train`'s run: what to train on, where, and how it starts (new, resumed or fine-tuned).
struct RunOptions: ParsableArguments {
    @Option(help: "bigram, tiny, baby, lecture, modern or speedrun (the README's table; default: baby).")
    var preset: String?
    @Option(help: "A UTF-8 text file, a folder of .txt files (joined in name order), a folder written by `gpt prepare`, or with --init-from a .jsonl of conversations (OpenAI's fine-tuning format: the loss on the assistant's tokens) (default: the bundled tiny shakespeare).")
    var data: String?
    @Option(help: "Where to save the run (default: runs/<preset>).") var out: String?
    @Flag(help: "Replace a run already saved in --out (its model, latest/, best/ and log are deleted).")
    var overwrite = false
    @Option(help: "Continue the run saved in this directory.") var resume: String?
    @Option(help: "Fine-tune: start a new run (fresh optimizer, a tenth of the preset's learning rate) from the model in this checkpoint.")
    var initFrom: String?
    @Option(name: .customLong("max-iters"), parsing: .unconditional,
            help: "Optimizer steps (default: the preset's; baby 2000).") var maxIterations: Int?
    @Option(help: "char (Unicode scalars, the lecture), word, or bpe (byte-level BPE) (default: char).") var tokenizer: String?
    @Option(parsing: .unconditional, help: "Vocabulary size of a bpe tokenizer trained on the corpus (default: 512).")
    var vocabSize: Int?
    @Flag(help: "With --init-from: leave out text outside the model's vocabulary (counted and named) instead of refusing it.")
    var skipUnknown = false
    @Option(parsing: .unconditional, help: "With --init-from and a .jsonl of conversations: the share held out for evaluation, the last ones (default: 0.1).")
    var valFraction: Double?
    @Option(parsing: .unconditional, help: "Tokens to sample after training (0: none).") var sampleLength = 500
}
