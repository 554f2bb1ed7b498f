import ArgumentParser
import Foundation
import LanguageModels

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model that has a chat template: one line per message, answers streamed.",
        discussion: """
            Reads messages from standard input, one per line (a pipe works too); /reset forgets the conversation, \
            /exit (or the end of input) ends it. When the model's context fills up, the oldest turns leave the \
            conversation and a note on standard error says so. --messages FILE reads a conversation (a JSON list \
            of {"role", "content"}, or {"messages": [...]}) and answers it once; with --render it prints the prompt \
            the template makes of it (with the generation prompt) instead.
            """)

    @OptionGroup var model: CheckpointOptions
    @Option(help: "A system message put before the conversation.") var system: String?
    @Option(help: "A conversation file (JSON) to answer once, or to print with --render.") var messages: String?
    @Flag(help: "Print the prompt the chat template makes of --messages (with the generation prompt) and exit.")
    var render = false
    @OptionGroup(title: "Sampling") var sampling: SamplingArguments

    func run() throws {
        try reportingErrors {
            var options = try sampling.options()
            guard options.samples == 1, options.logprobs == 0 else {
                throw GPTError.invalidArgument(name: "--samples/--logprobs", reason: "gpt chat answers with one sample "
                                               + "and no log-probabilities; use gpt sample or gpt serve for those")
            }
            if render && messages == nil {
                throw GPTError.invalidArgument(name: "--render", reason: "give the conversation to render with --messages FILE")
            }
            let session = try ChatSession(checkpoint: model.url, system: system)
            if let messages {
                let url = URL(fileURLWithPath: messages)
                guard let data = FileManager.default.contents(atPath: url.path) else { throw GPTError.fileNotFound(path: messages) }
                session.append(try ChatMessage.conversation(json: data))
                if render {
                    emit(try session.format.prompt(session.messages).text)
                    return
                }
                try answer(session) { try session.reply(options: options, onPiece: $0) }
                return
            }
            let interactive = isatty(0) != 0
            if interactive { printError("chatting with \(model.checkpoint): /reset forgets the conversation, /exit ends it") }
            while true {
                if interactive { emit("> ") }
                guard let line = readLine(strippingNewline: true) else { break }
                let text = line.trimmingCharacters(in: .whitespaces)
                switch text {
                case "": continue
                case "/exit", "/quit": return
                case "/reset":
                    session.reset()
                    printError("(the conversation was reset)")
                    continue
                default: break
                }
                do {
                    try answer(session) { try session.send(line, options: options, onPiece: $0) }
                } catch {
                    printError("error: \(error)")  // the message was taken back; the chat goes on
                }
                options.seed &+= 1  // each answer draws anew, all reproducible from --seed
            }
        }
    }

    /// Runs one reply, printing its pieces as they come and, on standard error, what happened to the context.
    func answer(_ session: ChatSession, _ reply: ((GeneratedPiece) -> Bool) throws -> ChatReply) throws {
        let result = try reply { piece in
            emit(piece.text)
            return true
        }
        emit("\n")
        if result.droppedMessages > 0 {
            printError("(the context was full: the \(result.droppedMessages) oldest messages left the conversation)")
        }
        if result.contextFull {
            printError("(the answer reached the end of the model's context, \(session.generator.model.configuration.blockSize) tokens)")
        }
    }
}
