public enum JobgateClientPlaceholder {}
