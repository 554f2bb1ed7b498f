// What a caller of LanguageModels needs comes with it: tensors, `SeededGenerator`, `KernelSettings` and the
// precisions (TensorModule), modules and optimizers (NN). `import LanguageModels` is enough to train and sample.
@_exported import NN
@_exported import TensorModule
