import ArgumentParser
import Foundation
import LanguageModels
import TensorModule

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show what a trained model learned, as text and SVG pictures.",
        subcommands: [InspectEmbeddings.self, InspectAttention.self])
}
