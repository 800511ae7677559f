import AtpgatePolicy

/// Placeholder: the doctor helper replaces this file.
public enum Doctor {}
