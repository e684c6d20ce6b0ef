# LogHarbor's services (gateway, pipeline, ui, shipper) in one image; the role is the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY logharbor ./logharbor
COPY index_templates ./index_templates
COPY shipper ./shipper
COPY gateway ./gateway
COPY pipeline ./pipeline
COPY opensearch ./opensearch
COPY ui ./ui
COPY ops ./ops
RUN pip install --no-cache-dir . && useradd --system logharbor
USER logharbor
ENTRYPOINT ["logharbor"]
CMD ["--help"]
