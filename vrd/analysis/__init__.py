"""Distribution shift between a dataset and a base model, and whether RL would get signal.

likelihood (NLL under the base model), embeddings + distances (MMD², Fréchet, classifier
AUC, MAUVE), style (lengths, reflection markers, format), signal (zero-advantage groups),
report + html (`vrd shift-report`). Submodules import their heavy dependencies lazily.
"""
