// Kept to one call: Dispatch handlers written as top-level code would be inferred @MainActor
// and trap when they fire on another queue (see ../shared/notes/swift-on-linux.md).
import AtpgateCLI

AtpgateCommand.main()
