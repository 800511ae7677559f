// Placeholder: the load generator is being written (issue 4).
print("atpgate-bench: not implemented yet")
